import { describe, expect, it } from 'vitest';
import { endingTasks, parseTaskList } from '../../../src/drivers/abra/swarm.js';

// `docker service ps --no-trunc --format '{{json .}}'` during a rollback: the failed task is being shut down
const ROLLING_BACK = [
  '{"CurrentState":"Running 12 seconds ago","DesiredState":"Shutdown","Error":"","ID":"x1","Image":"b:2",' +
    '"Name":"bonfire_app.1","Node":"hypha","Ports":""}',
  '{"CurrentState":"Starting 1 second ago","DesiredState":"Running","Error":"","ID":"x2","Image":"b:1",' +
    '"Name":"bonfire_app.1","Node":"hypha","Ports":""}',
  '{"CurrentState":"Shutdown 3 minutes ago","DesiredState":"Shutdown","Error":"","ID":"x0","Image":"b:1",' +
    '"Name":"bonfire_app.1","Node":"hypha","Ports":""}',
].join('\n');

describe('the tasks a swarm is replacing', () => {
  it('a task with desired state Shutdown that still runs has not ended; one that shut down has', () => {
    const ending = endingTasks(parseTaskList(ROLLING_BACK));
    expect(ending).toEqual([{ name: 'bonfire_app.1', desired: 'Shutdown', current: 'Running 12 seconds ago' }]);
  });

  it('output that is not the JSON of docker service ps is an error, not "nothing runs"', () => {
    expect(() => parseTaskList('ID NAME IMAGE')).toThrow(/not a JSON line/);
    expect(() => parseTaskList('{"Name":"a"}')).toThrow(/no DesiredState/);
  });
});
