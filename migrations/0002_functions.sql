CREATE TABLE "function_aliases" (
	"function_id" text NOT NULL,
	"name" text NOT NULL,
	"function_version" text NOT NULL,
	"additional_version" text,
	"additional_weight" double precision,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_aliases_function_id_name_pk" PRIMARY KEY("function_id","name")
);
--> statement-breakpoint
CREATE TABLE "function_versions" (
	"function_id" text NOT NULL,
	"version" integer NOT NULL,
	"config" jsonb NOT NULL,
	"code_sha256" text NOT NULL,
	"revision_id" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_versions_function_id_version_pk" PRIMARY KEY("function_id","version")
);
--> statement-breakpoint
CREATE TABLE "functions" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"runtime" text NOT NULL,
	"handler" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"memory_mb" integer NOT NULL,
	"timeout_seconds" integer NOT NULL,
	"environment" jsonb NOT NULL,
	"tags" jsonb NOT NULL,
	"reserved_concurrency" integer,
	"code_sha256" text NOT NULL,
	"code_size" bigint NOT NULL,
	"state" text NOT NULL,
	"state_reason" text,
	"state_reason_code" text,
	"last_update_status" text NOT NULL,
	"last_update_status_reason" text,
	"revision_id" text NOT NULL,
	"max_retry_attempts" integer DEFAULT 2 NOT NULL,
	"max_event_age_seconds" integer DEFAULT 21600 NOT NULL,
	"on_success" text,
	"on_failure" text,
	"last_version" integer DEFAULT 0 NOT NULL,
	"log_stream_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_modified_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invocations" (
	"id" text PRIMARY KEY NOT NULL,
	"function_id" text NOT NULL,
	"function_name" text NOT NULL,
	"qualifier" text NOT NULL,
	"executed_version" text NOT NULL,
	"invocation_type" text NOT NULL,
	"status" text NOT NULL,
	"payload" text,
	"response" text,
	"function_error" text,
	"error_type" text,
	"error_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_retry_attempts" integer DEFAULT 0 NOT NULL,
	"max_event_age_seconds" integer,
	"next_attempt_at" timestamp with time zone,
	"claimed_by" text,
	"claimed_until" timestamp with time zone,
	"source_invocation_id" text,
	"cold_start" boolean DEFAULT false NOT NULL,
	"init_duration_ms" double precision,
	"duration_ms" double precision,
	"billed_duration_ms" integer,
	"memory_mb" integer NOT NULL,
	"max_memory_used_mb" integer,
	"concurrency" integer,
	"instance_id" text,
	"logs" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "function_aliases" ADD CONSTRAINT "function_aliases_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_versions" ADD CONSTRAINT "function_versions_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "functions_name_idx" ON "functions" USING btree ("name");--> statement-breakpoint
CREATE INDEX "functions_created_idx" ON "functions" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "functions_pending_idx" ON "functions" USING btree ("id") WHERE state = 'Pending' or last_update_status = 'InProgress';--> statement-breakpoint
CREATE INDEX "invocations_function_created_idx" ON "invocations" USING btree ("function_id","created_at","id");--> statement-breakpoint
CREATE INDEX "invocations_created_idx" ON "invocations" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "invocations_queued_idx" ON "invocations" USING btree ("next_attempt_at") WHERE status in ('QUEUED', 'RUNNING');