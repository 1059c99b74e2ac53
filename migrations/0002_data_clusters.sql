CREATE TABLE "buckets" (
	"name" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
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
ALTER TABLE "clusters" ADD COLUMN "bootstrap_actions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_url" text;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "spark_master_web_url" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "endpoints" jsonb;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "result" jsonb;--> statement-breakpoint
ALTER TABLE "objects" ADD CONSTRAINT "objects_bucket_buckets_name_fk" FOREIGN KEY ("bucket") REFERENCES "public"."buckets"("name") ON DELETE no action ON UPDATE no action;