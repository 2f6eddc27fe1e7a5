import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { RuntimeNodeError } from '../errors.js';
import type { ServerContext } from './context.js';
import { readImages } from './images.js';

/** /v1: embed, classify and search images; the models served. */
export const v1Plugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { limits } = ctx;

  /** Reads the images, checks the model can answer (`need`) before decoding anything, runs them. */
  const run = async (req: FastifyRequest, need: 'embedding' | 'classes' | 'gallery') => {
    const r = await readImages(req, limits);
    const l = ctx.getModel(r.model);
    const m = l.model;
    if (need === 'embedding') m.requireEmbedding('answer /v1/embed (/v1/classify works)');
    if (need === 'classes' && !m.probOutput && !m.classEmbedding) {
      throw new RuntimeNodeError(
        `model ${m.name} has neither a probabilities output nor class embeddings, so it cannot classify`,
      );
    }
    if (need === 'gallery') {
      m.requireEmbedding('search a gallery');
      if (!l.gallery)
        throw new RuntimeNodeError(
          `model ${m.name} has no gallery (start the server with --gallery ${m.name}=features.npy)`,
          404,
        );
      if (l.gallery.size === 0)
        throw new RuntimeNodeError(`the gallery of model ${m.name} is empty (0 items): nothing to search`, 404);
    }
    const input = await m.preprocess(r.images, { sources: r.sources, maxImagePixels: limits.maxImagePixels });
    const outputs = await ctx.infer(l, input, r.images.length);
    return { l, r, results: m.interpret(outputs, r.images.length) };
  };

  app.post('/v1/embed', async (req) => {
    const { l, results } = await run(req, 'embedding');
    return {
      model: l.model.name,
      dim: results[0].embedding.length,
      embeddings: results.map((x) => Array.from(x.embedding)),
    };
  });

  app.post('/v1/classify', async (req) => {
    const { l, r, results } = await run(req, 'classes');
    const k = r.topK ?? 5;
    const m = l.model;
    return {
      model: m.name,
      results: results.map((x) => ({
        ...(x.probabilities && {
          classes: m.topClasses(x.probabilities, k).map(({ score, ...c }) => ({ ...c, probability: score })),
        }),
        ...(m.classEmbedding &&
          m.embeddingOutput && {
            nearest: m.nearestClasses(x.embedding, k).map(({ score, ...c }) => ({ ...c, similarity: score })),
          }),
      })),
    };
  });

  app.post('/v1/search', async (req) => {
    const { l, r, results } = await run(req, 'gallery');
    const k = r.topK ?? 10;
    return {
      model: l.model.name,
      engine: l.gallery!.engine,
      results: results.map((x) => ({ matches: l.gallery!.search(x.embedding, k) })),
    };
  });

  app.get('/v1/models', async () => ({
    models: [...ctx.loaded.values()].map(({ model, gallery }) => ({
      name: model.name,
      executionProvider: model.providers.chosen,
      input: model.sidecar.input,
      preprocessing: model.sidecar.preprocessing,
      outputs: model.sidecar.outputs,
      classes: model.sidecar.classes?.length ?? 0,
      gallery: gallery ? { size: gallery.size, engine: gallery.engine } : null,
    })),
  }));
};
