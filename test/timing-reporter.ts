// A vitest reporter that prints where the suite's time goes: the run's wall time and its ten
// slowest test files, each with its project, so that whoever makes the suite slower sees it.
import path from "node:path";
import type { Reporter, TestModule, Vitest } from "vitest/node";

const SHOWN = 10;

export default class TimingReporter implements Reporter {
  private root = process.cwd();
  private started = performance.now();

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.started = performance.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const files = modules
      .map((module) => {
        const d = module.diagnostic();
        return {
          file: path.relative(this.root, module.moduleId),
          project: module.project.name,
          // Setup and import count too: that is where a workerd start or a network start shows.
          ms: d.duration + d.setupDuration + d.collectDuration + d.prepareDuration,
        };
      })
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SHOWN);
    const width = Math.max(...files.map((f) => f.file.length), 10);
    const lines = files.map(
      (f) => `  ${(f.ms / 1000).toFixed(1).padStart(6)} s  ${f.file.padEnd(width)}  ${f.project}`,
    );
    const wall = ((performance.now() - this.started) / 1000).toFixed(1);
    console.log(
      `\nTest time: ${wall} s (wall) for ${modules.length} files; the ${files.length} slowest:\n${lines.join("\n")}\n`,
    );
  }
}
