import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ImportResult } from '../../service/import.ts';
import type { CliContext } from '../context.ts';
import { formatImport } from '../output.ts';

export function registerFindings(program: Command, ctx: CliContext): void {
  const findings = program.command('findings').description('bring scanner findings in');

  findings
    .command('import')
    .description(
      'import a findings file: Prowler OCSF JSON, Security Hub ASFF, kubescape, Polaris, ' +
        'trivy-operator, kube-bench or Kubernetes manifests (operator)',
    )
    .argument('<file>', 'the file, or - for standard input')
    .option(
      '--kube-context <name>',
      'the kubeconfig context Kubernetes findings belong to (default: default)',
    )
    .action(async (file: string, o: { kubeContext?: string }) => {
      const text = file === '-' ? await readStdin() : await readFindings(ctx.resolvePath(file));
      const query = o.kubeContext ? `?kubeContext=${encodeURIComponent(o.kubeContext)}` : '';
      const result = await ctx
        .client()
        .postText<ImportResult>(`/findings/import${query}`, text, 'application/json');
      ctx.show(result, formatImport);
    });
}

async function readFindings(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read the findings file ${file} (${code}); check the path`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
