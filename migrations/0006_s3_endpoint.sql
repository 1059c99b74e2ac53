ALTER TABLE "api_keys" ADD COLUMN "s3_access_key_id" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "s3_secret_sealed" text;--> statement-breakpoint
ALTER TABLE "objects" ADD COLUMN "checksum" jsonb;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_s3_access_key_id_idx" ON "api_keys" USING btree ("s3_access_key_id");