CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`rate_limit_per_minute` integer DEFAULT 600 NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `inferences` (
	`id` text PRIMARY KEY NOT NULL,
	`api_key_id` text NOT NULL,
	`kind` text NOT NULL,
	`model` text NOT NULL,
	`backend` text NOT NULL,
	`request` text NOT NULL,
	`response` text NOT NULL,
	`usage` text NOT NULL,
	`receipt` text NOT NULL,
	`request_hash` text NOT NULL,
	`response_hash` text NOT NULL,
	`stream` integer NOT NULL,
	`user` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	FOREIGN KEY (`api_key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `inferences_key_created` ON `inferences` (`api_key_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `inferences_status` ON `inferences` (`status`);