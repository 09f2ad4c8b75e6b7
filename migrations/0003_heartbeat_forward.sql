DROP TABLE `refusals`;--> statement-breakpoint
ALTER TABLE `verifiers` ADD `heartbeat_at` integer;