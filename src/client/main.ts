/** p2p-client command line (README "Client"): parse arguments, then run the TUI on this terminal. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULT_PORT } from '../net/constants.ts';
import { defaultDataDir } from './history/data-dir.ts';
import { defaultDownloadDir, parseByteSize } from './files/places.ts';
import { parseServerList } from './server-list.ts';

export async function main(argv = hideBin(process.argv)): Promise<void> {
  const args = await yargs(argv)
    .scriptName('p2p-client')
    .usage(
      '$0 [host] [port]\n\nThe p2p-broadcast chat client (a terminal UI). Without a host it asks for the server, ' +
        'with 127.0.0.1 and 4400 filled in. The nodes of a cluster: host1:port,host2:port (tried in turn).',
    )
    .command('$0 [host] [port]', false)
    .positional('host', {
      type: 'string',
      describe: 'server IP address or host name, or a list host1:port,host2:port (P2P_HOST)',
    })
    .positional('port', { type: 'number', describe: 'server TCP port (P2P_PORT)' })
    .option('config-dir', { type: 'string', describe: 'where known_hosts is kept (P2P_CONFIG_DIR)' })
    .option('data-dir', {
      type: 'string',
      describe: 'where the encrypted history is kept (P2P_DATA_DIR; default $XDG_DATA_HOME/p2p-broadcast)',
    })
    .option('history', {
      type: 'boolean',
      default: true,
      describe: 'keep chat, broadcast and input history on disk, encrypted (--no-history: keep nothing)',
    })
    .option('download-dir', {
      type: 'string',
      describe: 'where received files go (P2P_DOWNLOAD_DIR, else $XDG_DOWNLOAD_DIR, else ~/Downloads/p2p-broadcast)',
    })
    .option('max-file-size', {
      type: 'string',
      describe: 'refuse offered files larger than this, e.g. 500M, 4G (P2P_MAX_FILE_SIZE; default 4G)',
    })
    .check((a) => {
      if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535))
        throw new Error('port must be 1-65535');
      if (a.host !== undefined) parseServerList(a.host, a.port ?? DEFAULT_PORT);
      if (a['max-file-size'] !== undefined && parseByteSize(a['max-file-size']) === null)
        throw new Error('--max-file-size must be a size such as 500M or 4G');
      return true;
    })
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .parseAsync();

  if (!process.stdin.isTTY || !process.stdout.isTTY)
    throw new Error('p2p-client needs a terminal (stdin and stdout must be a TTY)');
  // The P2P_ variables are read one by one: yargs' .env('P2P') would take any other P2P_* (such as P2P_TEST) as an unknown flag.
  const hostText = args.host ?? process.env.P2P_HOST;
  const port = args.port ?? (process.env.P2P_PORT ? Number(process.env.P2P_PORT) : DEFAULT_PORT);
  const nodes = hostText === undefined ? undefined : parseServerList(hostText, port);
  // Loaded after parsing, so `--help` does not load the TUI (docs/BENCHMARKS.md, "Start-up").
  const { createApp } = await import('./tui/app.ts');
  const app = createApp({
    // A host given (argument or environment): connect at once; otherwise the TUI asks.
    nodes,
    configDir: args['config-dir'] ?? process.env.P2P_CONFIG_DIR,
    ...(args.history ? { dataDir: args['data-dir'] ?? defaultDataDir() } : {}),
    files: {
      downloadDir: args['download-dir'] ?? defaultDownloadDir(),
      maxFileBytes: parseByteSize(args['max-file-size'] ?? process.env.P2P_MAX_FILE_SIZE ?? '') ?? undefined,
    },
  });
  await app.done;
  process.exit(0);
}
