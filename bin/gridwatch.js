#!/usr/bin/env node
// Entry point of the `gridwatch` command. The code is TypeScript run through tsx's loader, so
// there is no build step between a checkout and a running gateway.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
