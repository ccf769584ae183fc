// Creates a campaign through a client generated from the master's /openapi/v1.json by @hey-api/openapi-ts
// (GeneratedClientTests): uploads the target binary, then posts the campaign. Compiled with tsc --strict beside the
// generated code, so a request body the document does not declare fails here, before anything runs.
// Environment: PANDAFUZZ_API (the master's base address), PANDAFUZZ_TOKEN, PANDAFUZZ_TARGET (a target binary's path).
// Prints one JSON line: { targetId, campaignId, status }.
import { readFileSync } from 'node:fs';
import { client } from './client/client.gen';
import { createCampaign, uploadTarget } from './client';

async function main(): Promise<void> {
  client.setConfig({ baseUrl: required('PANDAFUZZ_API'), auth: required('PANDAFUZZ_TOKEN') });

  const binary = readFileSync(required('PANDAFUZZ_TARGET'));
  const target = await uploadTarget({ query: { name: 'generated-client' }, body: new Blob([binary]) });
  if (!target.data) {
    throw new Error(`uploadTarget answered ${target.response.status}: ${JSON.stringify(target.error)}`);
  }

  const campaign = await createCampaign({
    body: { name: 'from a generated client', targetId: target.data.id, engine: 'libfuzzer', jobs: 1, durationSeconds: 60 },
  });
  if (!campaign.data) {
    throw new Error(`createCampaign answered ${campaign.response.status}: ${JSON.stringify(campaign.error)}`);
  }

  console.log(JSON.stringify({ targetId: target.data.id, campaignId: campaign.data.id, status: campaign.response.status }));
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }

  return value;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
