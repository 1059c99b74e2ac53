CREATE TABLE "host_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"host_id" text NOT NULL,
	"state" text NOT NULL,
	"message" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "host_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"labels" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"single_use" boolean DEFAULT true NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "host_tokens_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"state_reason" text,
	"embedded" boolean NOT NULL,
	"connected_server" text,
	"address" text NOT NULL,
	"labels" jsonb NOT NULL,
	"vcpu" integer NOT NULL,
	"memory_mb" integer NOT NULL,
	"disk_mb" integer NOT NULL,
	"overcommit" real NOT NULL,
	"installation" jsonb,
	"token_id" text,
	"key_sealed" text,
	"reports" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"last_heartbeat_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "instance_groups" ADD COLUMN "host_labels" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "host_id" text;--> statement-breakpoint
CREATE INDEX "host_events_host_idx" ON "host_events" USING btree ("host_id");--> statement-breakpoint
CREATE INDEX "hosts_state_idx" ON "hosts" USING btree ("state");--> statement-breakpoint
CREATE INDEX "instances_host_idx" ON "instances" USING btree ("host_id");