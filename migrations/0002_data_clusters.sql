CREATE TABLE "auto_scaling_policies" (
	"group_id" text PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"min_capacity" integer NOT NULL,
	"max_capacity" integer NOT NULL,
	"rules" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "buckets" (
	"name" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cluster_metrics" (
	"cluster_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"name" text NOT NULL,
	"dimension" text DEFAULT '' NOT NULL,
	"value" double precision NOT NULL
);
--> statement-breakpoint
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
CREATE TABLE "managed_scaling_policies" (
	"cluster_id" text PRIMARY KEY NOT NULL,
	"unit_type" text NOT NULL,
	"minimum_capacity_units" integer NOT NULL,
	"maximum_capacity_units" integer NOT NULL,
	"maximum_core_capacity_units" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "object_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"bucket" text NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"size" bigint,
	"etag" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "objects" (
	"bucket" text NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"size" bigint NOT NULL,
	"etag" text NOT NULL,
	"content_type" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "objects_bucket_key_pk" PRIMARY KEY("bucket","key")
);
--> statement-breakpoint
CREATE TABLE "function_provisioned_concurrency" (
	"function_id" text NOT NULL,
	"qualifier" text NOT NULL,
	"requested" integer NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"available" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_provisioned_concurrency_function_id_qualifier_pk" PRIMARY KEY("function_id","qualifier")
);
--> statement-breakpoint
CREATE TABLE "scaling_activities" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"group_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"from_count" integer NOT NULL,
	"to_count" integer NOT NULL,
	"trigger" text NOT NULL,
	"rule_name" text,
	"reason" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "bootstrap_actions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_url" text;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_web_url" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "endpoints" jsonb;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "result" jsonb;--> statement-breakpoint
ALTER TABLE "auto_scaling_policies" ADD CONSTRAINT "auto_scaling_policies_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auto_scaling_policies" ADD CONSTRAINT "auto_scaling_policies_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_aliases" ADD CONSTRAINT "function_aliases_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_versions" ADD CONSTRAINT "function_versions_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "managed_scaling_policies" ADD CONSTRAINT "managed_scaling_policies_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "objects" ADD CONSTRAINT "objects_bucket_buckets_name_fk" FOREIGN KEY ("bucket") REFERENCES "public"."buckets"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_provisioned_concurrency" ADD CONSTRAINT "function_provisioned_concurrency_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "auto_scaling_policies_cluster_idx" ON "auto_scaling_policies" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "cluster_metrics_series_idx" ON "cluster_metrics" USING btree ("cluster_id","name","dimension","at");--> statement-breakpoint
CREATE INDEX "cluster_metrics_at_idx" ON "cluster_metrics" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "functions_name_idx" ON "functions" USING btree ("name");--> statement-breakpoint
CREATE INDEX "functions_created_idx" ON "functions" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "functions_pending_idx" ON "functions" USING btree ("id") WHERE state = 'Pending' or last_update_status = 'InProgress';--> statement-breakpoint
CREATE INDEX "invocations_function_created_idx" ON "invocations" USING btree ("function_id","created_at","id");--> statement-breakpoint
CREATE INDEX "invocations_created_idx" ON "invocations" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "invocations_queued_idx" ON "invocations" USING btree ("next_attempt_at") WHERE status in ('QUEUED', 'RUNNING');--> statement-breakpoint
CREATE INDEX "scaling_activities_cluster_idx" ON "scaling_activities" USING btree ("cluster_id","id");--> statement-breakpoint
CREATE INDEX "scaling_activities_group_idx" ON "scaling_activities" USING btree ("group_id","at");