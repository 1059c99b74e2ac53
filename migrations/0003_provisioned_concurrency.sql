CREATE TABLE "function_provisioned_concurrency" (
	"function_id" text NOT NULL,
	"qualifier" text NOT NULL,
	"requested" integer NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"available" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_provisioned_concurrency_function_id_qualifier_pk" PRIMARY KEY("function_id","qualifier")
);
--> statement-breakpoint
ALTER TABLE "function_provisioned_concurrency" ADD CONSTRAINT "function_provisioned_concurrency_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;