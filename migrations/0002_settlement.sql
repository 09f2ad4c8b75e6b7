CREATE TABLE `settlement_batches` (
	`id` integer PRIMARY KEY NOT NULL,
	`chain_id` integer NOT NULL,
	`ledger` text NOT NULL,
	`batch_id` integer NOT NULL,
	`root` text NOT NULL,
	`count` integer NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`reason` text,
	`signatures` text,
	`settler` text NOT NULL,
	`tx_hash` text,
	`nonce` integer,
	`submitted_at` integer,
	`submissions` integer DEFAULT 0 NOT NULL,
	`block_number` integer,
	`block_hash` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`confirmed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `settlement_batches_ledger_batch` ON `settlement_batches` (`chain_id`,`ledger`,`batch_id`);--> statement-breakpoint
CREATE INDEX `settlement_batches_status` ON `settlement_batches` (`status`);--> statement-breakpoint
CREATE TABLE `settlement_dead_letters` (
	`message_id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`body` text NOT NULL,
	`error` text,
	`attempts` integer NOT NULL,
	`sent_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settlement_records` (
	`inference_id` text PRIMARY KEY NOT NULL,
	`outcome` text NOT NULL,
	`round_outcome` text NOT NULL,
	`leaf` text NOT NULL,
	`leaf_hash` text NOT NULL,
	`decided_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`batch` integer,
	`tree_index` integer,
	FOREIGN KEY (`batch`) REFERENCES `settlement_batches`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `settlement_records_batch` ON `settlement_records` (`batch`,`decided_at`,`inference_id`);--> statement-breakpoint
CREATE TABLE `settlement_tree_nodes` (
	`batch` integer NOT NULL,
	`node_index` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`batch`, `node_index`),
	FOREIGN KEY (`batch`) REFERENCES `settlement_batches`(`id`) ON UPDATE no action ON DELETE no action
);
