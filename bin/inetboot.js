#!/usr/bin/env node
// Thin launcher: the program lives in dist/ (compiled from src/ by `npm ci`/`npm run build`).
import { runCli } from '../dist/cli.js';

process.exitCode = await runCli(process.argv);
