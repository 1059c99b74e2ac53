CREATE TABLE "workload_credentials" (
	"access_key_id" text PRIMARY KEY NOT NULL,
	"secret_sealed" text NOT NULL,
	"owner_kind" text NOT NULL,
	"owner_id" text NOT NULL,
	"actions" text[] NOT NULL,
	"created_by_key_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "multipart_parts" (
	"upload_id" text NOT NULL,
	"part_number" integer NOT NULL,
	"size" bigint NOT NULL,
	"etag" text NOT NULL,
	"checksum" jsonb,
	"last_modified" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "multipart_parts_upload_id_part_number_pk" PRIMARY KEY("upload_id","part_number")
);
--> statement-breakpoint
CREATE TABLE "multipart_uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"bucket" text NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"content_type" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"checksum_algorithm" text,
	"initiated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "multipart_parts" ADD CONSTRAINT "multipart_parts_upload_id_multipart_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."multipart_uploads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "multipart_uploads" ADD CONSTRAINT "multipart_uploads_bucket_buckets_name_fk" FOREIGN KEY ("bucket") REFERENCES "public"."buckets"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workload_credentials_owner_idx" ON "workload_credentials" USING btree ("owner_kind","owner_id");--> statement-breakpoint
CREATE INDEX "multipart_uploads_listing" ON "multipart_uploads" USING btree ("bucket","key","initiated_at","id");--> statement-breakpoint
CREATE INDEX "multipart_uploads_age" ON "multipart_uploads" USING btree ("initiated_at");