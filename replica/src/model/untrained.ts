/** The version of the untrained ResNet18 built offline: this prefix and its seed (e.g. untrained-seed18). */
export const UNTRAINED_MODEL_VERSION_PREFIX = 'untrained-seed'
