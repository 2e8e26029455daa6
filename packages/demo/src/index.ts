export {
  runDemo,
  demoTrace,
  type DemoFrame,
  type DemoOptions,
  type DemoReplica,
  type DemoResult,
} from './run-demo.js';
export { renderFrame, drawFrame } from './terminal-view.js';
export { renderDemoReport } from './demo-report.js';
