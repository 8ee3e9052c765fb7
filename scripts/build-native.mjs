#!/usr/bin/env node
// Builds the native addon during `npm install`. Placeholder until the native backend lands.
console.log("bert-ts: no native addon in this build yet");
