import type { Logger } from 'pino';
import type { ScheduleService } from './service.js';
import { OneRunAtATime } from '../../../platform/one-run-at-a-time.js';

const LOCKED_RETRY_MS = 20;

/**
 * Fires SCHEDULE triggers' ticks. Runs on every server: it sleeps until the earliest tick (read
 * again when a trigger changes, on the trigger NOTIFY, and at least every `intervalMs`), then fires
 * what is due. The row lock in ScheduleService.fireDue makes each tick fire on exactly one server.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly serial: OneRunAtATime;

  constructor(
    private readonly schedules: ScheduleService,
    private readonly log: Logger,
    private readonly options: { intervalMs: number },
  ) {
    this.serial = new OneRunAtATime(
      () => this.pass(),
      (err) => {
        this.log.error({ err }, 'firing schedules failed; trying again shortly');
        this.sleep(this.options.intervalMs);
      },
    );
  }

  start(): void {
    this.kick();
  }

  /** fire what is due and sleep again until the (possibly new) earliest tick */
  kick(): void {
    if (!this.stopped) this.serial.request();
  }

  private async pass(): Promise<void> {
    // a run the serializer queued before stop()
    if (this.stopped) return;
    const now = new Date();
    await this.schedules.fireDue(now);
    const earliest = await this.schedules.earliest();
    if (earliest === null) return this.sleep(this.options.intervalMs);
    // still there though due when the pass began: another transaction holds it (another server
    // firing it, a trigger being changed); look again shortly rather than spin
    const wait = earliest.getTime() <= now.getTime() ? LOCKED_RETRY_MS : earliest.getTime() - Date.now();
    this.sleep(Math.min(wait, this.options.intervalMs));
  }

  private sleep(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.serial.idle();
  }
}
