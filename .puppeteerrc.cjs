// puppeteer never downloads a browser for this project: peir drives the
// system Chromium (see src/browser/chrome.ts for how it is found).
module.exports = { skipDownload: true };
