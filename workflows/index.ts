// Every workflow the orchestration worker runs; the prebuilt bundle is made from this file.
export { prepareEnvironment } from './prepare-environment';
export { sandboxExecProbe } from './sandbox-exec-probe';
export { rollout } from './rollout';
export { svgSample } from './svg-sample';
export { svgRun } from './svg-run';
export { buildDataset } from './build-dataset';
export { trainStudentModel } from './train-student';
export { buildEvalSet } from './build-eval-set';
export { gradePredictions } from './grade-predictions';
export { solveInstance } from './solve-instance';
export { evaluateModel } from './evaluate-model';
export { specializeRepository } from './specialize-repository';
export { fitScaling } from './fit-scaling';
export { serveStudent } from './serve-student';
