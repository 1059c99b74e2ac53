ALTER TABLE "clusters" ADD COLUMN "bootstrap_actions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_url" text;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_web_url" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "endpoints" jsonb;