CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"hash" text NOT NULL,
	"actions" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "clusters" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"state_reason_code" text,
	"state_reason_message" text,
	"applications" text[] NOT NULL,
	"keep_alive" boolean NOT NULL,
	"idle_timeout_seconds" integer,
	"step_concurrency" integer NOT NULL,
	"termination_protected" boolean DEFAULT false NOT NULL,
	"client_token" text,
	"request_hash" text,
	"event_seq" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"last_active_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"cluster_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"resource_id" text NOT NULL,
	"state" text,
	"payload" jsonb NOT NULL,
	CONSTRAINT "events_cluster_id_seq_pk" PRIMARY KEY("cluster_id","seq")
);
--> statement-breakpoint
CREATE TABLE "instance_groups" (
	"id" text PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"role" text NOT NULL,
	"instance_type" text NOT NULL,
	"requested_count" integer NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" text PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"group_id" text NOT NULL,
	"role" text NOT NULL,
	"instance_type" text NOT NULL,
	"state" text NOT NULL,
	"state_reason_code" text,
	"state_reason_message" text,
	"token_hash" text NOT NULL,
	"pid" integer,
	"host" text,
	"workdir" text,
	"connected_server" text,
	"last_heartbeat_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "log_lines" (
	"stream_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"stream" smallint NOT NULL,
	"text" text NOT NULL,
	CONSTRAINT "log_lines_stream_id_seq_pk" PRIMARY KEY("stream_id","seq")
);
--> statement-breakpoint
CREATE TABLE "log_streams" (
	"id" text PRIMARY KEY NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"agent_seq" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "servers" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_url" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "steps" (
	"id" text PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"position" bigserial NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"spec" jsonb NOT NULL,
	"action_on_failure" text NOT NULL,
	"state" text NOT NULL,
	"progress" double precision,
	"instance_id" text,
	"pid" integer,
	"exit_code" integer,
	"failure_reason" text,
	"failure_message" text,
	"log_stream_id" text NOT NULL,
	"cancel_option" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "instance_groups" ADD CONSTRAINT "instance_groups_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "steps" ADD CONSTRAINT "steps_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_idx" ON "api_keys" USING btree ("hash");--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_client_token_idx" ON "clusters" USING btree ("client_token");--> statement-breakpoint
CREATE INDEX "clusters_created_idx" ON "clusters" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "clusters_state_idx" ON "clusters" USING btree ("state");--> statement-breakpoint
CREATE INDEX "instance_groups_cluster_idx" ON "instance_groups" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "instances_cluster_idx" ON "instances" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "instances_state_idx" ON "instances" USING btree ("state");--> statement-breakpoint
CREATE INDEX "steps_cluster_position_idx" ON "steps" USING btree ("cluster_id","position");--> statement-breakpoint
CREATE INDEX "steps_active_idx" ON "steps" USING btree ("cluster_id") WHERE state in ('PENDING','RUNNING','CANCEL_PENDING');