#!/usr/bin/env node
// Thin launcher: the program lives in dist/ (compiled from src/ by `npm ci`/`npm run build`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
