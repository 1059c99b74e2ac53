CREATE TABLE "trigger_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_type" text NOT NULL,
	"object_event_seq" bigint,
	"cluster_id" text,
	"event_seq" bigint,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"function_id" text NOT NULL,
	"function_name" text NOT NULL,
	"qualifier" text DEFAULT '$LATEST' NOT NULL,
	"source_type" text NOT NULL,
	"config" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "invocations" ADD COLUMN "trigger_id" text;--> statement-breakpoint
ALTER TABLE "invocations" ADD COLUMN "event_id" text;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "triggers_name_idx" ON "triggers" USING btree ("name");--> statement-breakpoint
CREATE INDEX "triggers_created_idx" ON "triggers" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "triggers_source_idx" ON "triggers" USING btree ("source_type") WHERE enabled;--> statement-breakpoint
CREATE INDEX "triggers_function_idx" ON "triggers" USING btree ("function_id");--> statement-breakpoint
CREATE INDEX "invocations_trigger_idx" ON "invocations" USING btree ("trigger_id","created_at","id") WHERE trigger_id is not null;