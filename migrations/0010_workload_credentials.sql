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
CREATE INDEX "workload_credentials_owner_idx" ON "workload_credentials" USING btree ("owner_kind","owner_id");