/** Whether a system Chrome / Chromium is installed (browser tests run only then). */
import { findChrome } from '../src/browser/chrome.js';

export const haveChrome = (() => {
  try {
    findChrome();
    return true;
  } catch {
    return false;
  }
})();
