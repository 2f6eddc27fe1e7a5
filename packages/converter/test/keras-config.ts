// Keras model configs written by hand in tests, in the form Keras 2.2 / tf.keras save them (model_config).

/** A Keras-2 functional config (the form Keras 2.2 / tf.keras write): inputs, layers in order, outputs. */
export const kerasModel = (name: string, layers: object[], inputs: string[], outputs: string[]) => ({
  class_name: 'Model',
  config: {
    name,
    layers,
    input_layers: inputs.map((n) => [n, 0, 0]),
    output_layers: outputs.map((n) => [n, 0, 0]),
  },
});
/** Its InputLayer. */
export const kerasInput = (name: string, batchInputShape: (number | null)[]) => ({
  class_name: 'InputLayer',
  name,
  config: { name, batch_input_shape: batchInputShape },
  inbound_nodes: [],
});
/** A layer called once, on output 0 of each layer named in `from`. */
export const kerasLayer = (className: string, name: string, config: Record<string, unknown>, from: string[]) => ({
  class_name: className,
  name,
  config: { name, ...config },
  inbound_nodes: [from.map((f) => [f, 0, 0, {}])],
});
