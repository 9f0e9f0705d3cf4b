/** The simulator's public API for tests, benchmarks and the demo (no MQTT needed except `flood`). */
export { Rng, hashSeed } from './rng.ts';
export { generateTopology, concentratorOf, PROFILES, type GeneratedTopology, type TopologyOptions, type Mislabel, type GridProfile } from './topology.ts';
export { parseScenario, loadScenarioFile, resolveFaults, randomFaults, randomFaultFit, parseDuration, DEFAULT_MAGNITUDE, FAULT_SCOPES, RANDOM_KINDS, type FaultSpec, type FaultType, type FaultScope, type ResolvedFault, type Scenario } from './faults.ts';
export { GridModel, loadShape, type SimItem, type ModelOptions } from './model.ts';
export { createSimulation, simulateToArrays, generateReadings, type Simulation, type SimulationOptions, type SimulationArrays, type DeliveredItem, type DeliveryOptions } from './generate.ts';
export { toTruth, expectationOf, truthToJsonl, parseTruthJsonl, writeTruthFile, readTruthFile, type TruthRecord } from './truth.ts';
export { score, truthToDetections, percentile, anomalyClass, eventClass, ANOMALY_CLASSES, EVENT_CLASSES, type ScoreReport, type ScoreOptions, type Prf } from './score.ts';
export { flood, type FloodOptions, type FloodReport, type FloodProgress, type FloodAuth } from './flood.ts';
