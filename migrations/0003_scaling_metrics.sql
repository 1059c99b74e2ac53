CREATE TABLE "auto_scaling_policies" (
	"group_id" text PRIMARY KEY NOT NULL,
	"cluster_id" text NOT NULL,
	"min_capacity" integer NOT NULL,
	"max_capacity" integer NOT NULL,
	"rules" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
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
ALTER TABLE "auto_scaling_policies" ADD CONSTRAINT "auto_scaling_policies_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auto_scaling_policies" ADD CONSTRAINT "auto_scaling_policies_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "managed_scaling_policies" ADD CONSTRAINT "managed_scaling_policies_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scaling_activities" ADD CONSTRAINT "scaling_activities_group_id_instance_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."instance_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "auto_scaling_policies_cluster_idx" ON "auto_scaling_policies" USING btree ("cluster_id");--> statement-breakpoint
CREATE INDEX "cluster_metrics_series_idx" ON "cluster_metrics" USING btree ("cluster_id","name","dimension","at");--> statement-breakpoint
CREATE INDEX "cluster_metrics_at_idx" ON "cluster_metrics" USING btree ("at");--> statement-breakpoint
CREATE INDEX "scaling_activities_cluster_idx" ON "scaling_activities" USING btree ("cluster_id","id");--> statement-breakpoint
CREATE INDEX "scaling_activities_group_idx" ON "scaling_activities" USING btree ("group_id","at");