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
ALTER TABLE "trigger_schedules" ADD CONSTRAINT "trigger_schedules_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trigger_schedules_due_idx" ON "trigger_schedules" USING btree ("next_fire_at") WHERE next_fire_at is not null;