import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerCheckCommand } from './check.js';
import { registerHistorianCommands } from './historian.js';
import { registerModbusCommands } from './modbus.js';
import { registerNorthboundCommands } from './northbound.js';
import { registerNotifyCommands } from './notify.js';
import { registerSimCommands } from './sim.js';
import { registerStartCommands } from './start.js';
import { registerUserCommands } from './users.js';

export function buildProgram(): Command {
  const program = new Command('planta')
    .description('Planta: an open web SCADA for Modbus PLCs')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('version')
    .description('print the version of Planta and of Node.js')
    .action(() => {
      console.log(`planta ${VERSION} (node ${process.version})`);
    });

  registerCheckCommand(program);
  registerModbusCommands(program);
  registerStartCommands(program);
  registerSimCommands(program);
  registerHistorianCommands(program);
  registerUserCommands(program);
  registerNotifyCommands(program);
  registerNorthboundCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
