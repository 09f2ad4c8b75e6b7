CREATE TABLE `refusals` (
	`scope` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`scope`, `reason`)
);
--> statement-breakpoint
CREATE TABLE `verdicts` (
	`inference_id` text NOT NULL,
	`verifier` text NOT NULL,
	`outcome` text NOT NULL,
	`agreed` integer NOT NULL,
	`verdict` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`inference_id`, `verifier`),
	FOREIGN KEY (`inference_id`) REFERENCES `inferences`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `verdicts_verifier` ON `verdicts` (`verifier`);--> statement-breakpoint
CREATE TABLE `verifiers` (
	`address` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen_at` integer,
	`policy_hash` text,
	`version` text,
	`models` text
);
