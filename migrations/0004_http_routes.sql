CREATE TABLE "http_routes" (
	"trigger_id" text PRIMARY KEY NOT NULL,
	"method" text NOT NULL,
	"shape" text NOT NULL,
	"path" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "http_routes" ADD CONSTRAINT "http_routes_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "http_routes_route_idx" ON "http_routes" USING btree ("method","shape");