/** The in-memory bus's command roles: submitting, executing (the claim) and outcomes. */
import { CLAIM_RETENTION_MS } from '../command-messages.js';
import type {
  CommandBus,
  CommandClaim,
  CommandExecutionBus,
  CommandOutcome,
  CommandRequest,
  CommandSubscription,
  EntryHandler,
  OutcomeBus,
  Unsubscribe,
} from '../types.js';
import type { Deliveries, Handlers } from './deliveries.js';

export class MemoryCommands implements CommandBus, CommandExecutionBus, OutcomeBus {
  private readonly commandHandlers: Handlers<CommandRequest> = new Set();
  private readonly outcomeHandlers: Handlers<CommandOutcome> = new Set();
  /** Command id → until when its claim is kept. */
  private readonly claims = new Map<string, number>();

  constructor(private readonly hub: Deliveries) {}

  async submitCommand(request: CommandRequest): Promise<void> {
    this.hub.deliver(this.commandHandlers, request);
  }

  async subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    const only = options?.devices;
    return this.hub.subscribe(this.commandHandlers, only ? (r: CommandRequest) => void (only.includes(r.device) && handler(r)) : handler);
  }

  /** Nothing to hand back: in one process there are no leases, and a command is never refused for want of one. */
  async releaseCommand(): Promise<void> {}

  async claimCommand(request: CommandRequest): Promise<CommandClaim> {
    const now = Date.now();
    if (now >= request.expiresAt) return 'expired';
    if (this.claims.size > 1000) for (const [id, until] of this.claims) if (until < now) this.claims.delete(id);
    if ((this.claims.get(request.id) ?? 0) >= now) return 'duplicate';
    this.claims.set(request.id, request.expiresAt + CLAIM_RETENTION_MS);
    return 'claimed';
  }

  async commandWriting(): Promise<void> {
    // Nothing outlives the process: the executor's ledger on disk says it after a restart.
  }

  async publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    this.hub.deliver(this.outcomeHandlers, outcome);
  }

  async subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>): Promise<Unsubscribe> {
    return this.hub.subscribe(this.outcomeHandlers, handler);
  }

  clear(): void {
    this.claims.clear();
    this.commandHandlers.clear();
    this.outcomeHandlers.clear();
  }
}
