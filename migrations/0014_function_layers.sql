CREATE TABLE "layer_versions" (
	"layer_name" text NOT NULL,
	"version" integer NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"compatible_runtimes" jsonb NOT NULL,
	"code_sha256" text NOT NULL,
	"code_size" bigint NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "layer_versions_layer_name_version_pk" PRIMARY KEY("layer_name","version")
);
--> statement-breakpoint
CREATE TABLE "layers" (
	"name" text PRIMARY KEY NOT NULL,
	"last_version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "functions" ADD COLUMN "layers" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "layer_versions" ADD CONSTRAINT "layer_versions_layer_name_layers_name_fk" FOREIGN KEY ("layer_name") REFERENCES "public"."layers"("name") ON DELETE no action ON UPDATE no action;