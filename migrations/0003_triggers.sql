CREATE TABLE "http_routes" (
	"trigger_id" text PRIMARY KEY NOT NULL,
	"method" text NOT NULL,
	"shape" text NOT NULL,
	"path" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"queue_id" text NOT NULL,
	"seq" bigserial NOT NULL,
	"body" text NOT NULL,
	"md5_of_body" text NOT NULL,
	"message_attributes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"visible_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"receive_count" integer DEFAULT 0 NOT NULL,
	"first_received_at" timestamp with time zone,
	"receipt_handle" text
);
--> statement-breakpoint
CREATE TABLE "queues" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"visibility_timeout_seconds" integer NOT NULL,
	"message_retention_seconds" integer NOT NULL,
	"delay_seconds" integer NOT NULL,
	"receive_wait_seconds" integer NOT NULL,
	"dead_letter_queue_id" text,
	"max_receive_count" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "topic_queue_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"topic_id" text NOT NULL,
	"queue_id" text NOT NULL,
	"filter_policy" jsonb,
	"filter_policy_scope" text NOT NULL,
	"raw_message_delivery" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "topics" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trigger_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_type" text NOT NULL,
	"object_event_seq" bigint,
	"cluster_id" text,
	"event_seq" bigint,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trigger_schedules" (
	"trigger_id" text PRIMARY KEY NOT NULL,
	"expression" text NOT NULL,
	"timezone" text NOT NULL,
	"anchor_at" timestamp with time zone NOT NULL,
	"next_fire_at" timestamp with time zone,
	"last_fired_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
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
ALTER TABLE "http_routes" ADD CONSTRAINT "http_routes_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queue_messages" ADD CONSTRAINT "queue_messages_queue_id_queues_id_fk" FOREIGN KEY ("queue_id") REFERENCES "public"."queues"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queues" ADD CONSTRAINT "queues_dead_letter_queue_id_queues_id_fk" FOREIGN KEY ("dead_letter_queue_id") REFERENCES "public"."queues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topic_queue_subscriptions" ADD CONSTRAINT "topic_queue_subscriptions_topic_id_topics_id_fk" FOREIGN KEY ("topic_id") REFERENCES "public"."topics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topic_queue_subscriptions" ADD CONSTRAINT "topic_queue_subscriptions_queue_id_queues_id_fk" FOREIGN KEY ("queue_id") REFERENCES "public"."queues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_schedules" ADD CONSTRAINT "trigger_schedules_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "http_routes_route_idx" ON "http_routes" USING btree ("method","shape");--> statement-breakpoint
CREATE INDEX "queue_messages_visible_idx" ON "queue_messages" USING btree ("queue_id","visible_at","seq");--> statement-breakpoint
CREATE INDEX "queue_messages_expires_idx" ON "queue_messages" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "queues_name_idx" ON "queues" USING btree ("name");--> statement-breakpoint
CREATE INDEX "queues_created_idx" ON "queues" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "topic_queue_subscriptions_idx" ON "topic_queue_subscriptions" USING btree ("topic_id","queue_id");--> statement-breakpoint
CREATE INDEX "topic_queue_subscriptions_queue_idx" ON "topic_queue_subscriptions" USING btree ("queue_id");--> statement-breakpoint
CREATE UNIQUE INDEX "topics_name_idx" ON "topics" USING btree ("name");--> statement-breakpoint
CREATE INDEX "topics_created_idx" ON "topics" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "trigger_schedules_due_idx" ON "trigger_schedules" USING btree ("next_fire_at") WHERE next_fire_at is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "triggers_name_idx" ON "triggers" USING btree ("name");--> statement-breakpoint
CREATE INDEX "triggers_created_idx" ON "triggers" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "triggers_source_idx" ON "triggers" USING btree ("source_type") WHERE enabled;--> statement-breakpoint
CREATE INDEX "triggers_function_idx" ON "triggers" USING btree ("function_id");--> statement-breakpoint
CREATE INDEX "invocations_trigger_idx" ON "invocations" USING btree ("trigger_id","created_at","id") WHERE trigger_id is not null;