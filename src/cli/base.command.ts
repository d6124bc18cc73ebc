import { Command as Commander } from 'commander';
import { CommandRunner } from 'nest-commander';

/**
 * Strict parsing for every command: unknown options and stray arguments are errors (exit 2), and commander's errors
 * reach the CLI error handler instead of exiting the process on their own.
 */
export abstract class BaseCommand extends CommandRunner {
  override setCommand(command: Commander): this {
    command.allowExcessArguments(false);
    command.exitOverride((error) => {
      throw error;
    });
    return super.setCommand(command);
  }

  /**
   * Whether the option (its attribute name, e.g. `maxThrottle`) was given on the command line: an option with a
   * `defaultValue` always has a value, so its value cannot tell.
   */
  protected given(attribute: string): boolean {
    return this.command.getOptionValueSource(attribute) === 'cli';
  }
}
