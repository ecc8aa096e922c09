import type { FastifyInstance } from 'fastify';
import type { RemediationService } from '../../service/remediation.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, fixOptionsBody, ref, settingsBody } from '../schemas.ts';

export async function settingsRoutes(
  app: FastifyInstance,
  opts: { service: RemediationService },
): Promise<void> {
  const tags = ['settings'];
  const response = { 200: ref('RemediationSettings'), ...errorResponses };

  app.get('/settings/remediation', {
    schema: { tags, summary: 'The remediation settings', response },
    handler: () => opts.service.getSettings(),
  });

  app.put<{ Body: Record<string, unknown> }>('/settings/remediation', {
    schema: {
      tags,
      summary: 'Change some remediation settings; a refused change changes nothing',
      body: settingsBody,
      response,
    },
    handler: (request) => opts.service.updateSettings(request.body, actorOf(request)),
  });

  const options = { 200: ref('FixOptions'), ...errorResponses };

  app.get('/settings/fixes', {
    schema: { tags, summary: 'The options that shape what some fixes do', response: options },
    handler: () => opts.service.getFixOptions(),
  });

  app.put<{ Body: Record<string, unknown> }>('/settings/fixes', {
    schema: {
      tags,
      summary: 'Change some fix options; plans made before keep the options they were made with',
      body: fixOptionsBody,
      response: options,
    },
    handler: (request) => opts.service.updateFixOptions(request.body, actorOf(request)),
  });
}
