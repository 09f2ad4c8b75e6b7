ALTER TABLE `settlement_records` ADD `set_aside_reason` text;--> statement-breakpoint
ALTER TABLE `settlement_records` ADD `set_aside_at` integer;