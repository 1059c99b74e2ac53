ALTER TABLE "functions" ADD COLUMN "logging_config" jsonb;--> statement-breakpoint
ALTER TABLE "invocations" ADD COLUMN "trace_id" text;--> statement-breakpoint
CREATE INDEX "invocations_trace_idx" ON "invocations" USING btree ("trace_id");