#!/usr/bin/env node
// The compiled entry point does all the work; this file only makes `bin` executable.
import { main } from '../dist/main.js';

main(process.argv);
