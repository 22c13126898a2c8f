// Puppeteer never downloads a browser here: `npm run bench -- --browser`
// drives the system's Chromium (/usr/bin/chromium) or the one --browser-path
// names, through puppeteer-core, which has no download step. This file keeps
// it so should the full `puppeteer` package ever be installed, with an npm
// that runs install scripts (DESIGN.md, "Runtime on a machine without a GPU").
module.exports = { skipDownload: true };
