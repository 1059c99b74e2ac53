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
ALTER TABLE "managed_scaling_policies" ADD CONSTRAINT "managed_scaling_policies_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "objects" ADD CONSTRAINT "objects_bucket_buckets_name_fk" FOREIGN KEY ("bucket") REFERENCES "public"."buckets"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "auto_scaling_policies_cluster_idx" ON "auto_scaling_policies" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "cluster_metrics_series_idx" ON "cluster_metrics" USING btree ("cluster_id","name","dimension","at");--> statement-breakpoint
CREATE INDEX "cluster_metrics_at_idx" ON "cluster_metrics" USING btree ("at");--> statement-breakpoint
CREATE INDEX "scaling_activities_cluster_idx" ON "scaling_activities" USING btree ("cluster_id","id");--> statement-breakpoint
CREATE INDEX "scaling_activities_group_idx" ON "scaling_activities" USING btree ("group_id","at");