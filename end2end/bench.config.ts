import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The device-side measurements (make bench-save): same browser settings, another folder.
export default defineConfig({ ...base, testDir: './bench', timeout: 300_000 });
