import { Command, Option } from 'nest-commander';
import { BaseCommand } from '../cli/base.command';
import { CliError, ExitCode } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { EquipmentVerificationService } from './equipment-verification.service';

interface VerifyEquipmentOptions {
  json?: boolean;
}

/** Exit 1 without a message of its own: the report above already says what failed. */
class VerificationFailed extends CliError {
  constructor() {
    super('', ExitCode.Failed);
  }
}

@Command({
  name: 'verify-equipment',
  description: 'Check that every assessment is canonical and consistent (exit 0), or list what is not (exit 1)',
})
export class VerifyEquipmentCommand extends BaseCommand {
  constructor(
    private readonly verification: EquipmentVerificationService,
    private readonly output: CliOutput,
  ) {
    super();
  }

  async run(_parameters: string[], options: VerifyEquipmentOptions): Promise<void> {
    const result = await this.verification.verify({ json: options.json === true });
    if (options.json) this.output.json(result);
    else for (const line of this.verification.lines(result)) this.output.line(line);
    if (!result.ok) throw new VerificationFailed();
  }

  @Option({ flags: '--json', description: 'print the result as JSON on stdout (the database line goes to stderr)' })
  parseJson(): boolean {
    return true;
  }
}
