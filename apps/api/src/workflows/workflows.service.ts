import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { LearningLoopService } from '@app/feedback';
import { AppLogger } from '@app/logging';
import { BusinessMetrics } from '@app/metrics';
import { ArtworkEntity } from './entities/artwork.entity';
import { WorkflowEntity } from './entities/workflow.entity';
import {
  type ArtworkRecord,
  type StartedWorkflowRecord,
  type WorkflowRecord,
  type WorkflowWithFeedbackRecord,
} from './workflow.response';

const toWorkflow = (w: WorkflowEntity): WorkflowRecord => ({
  id: w.id,
  type: w.type,
  status: w.status,
  input: w.input,
  error: w.error,
  started_at: w.startedAt.toISOString(),
  ended_at: w.endedAt?.toISOString() ?? null,
});

const ARTWORK_GENERATION = 'artwork_generation';

/** Workflows and artworks: the events behind the business metrics and their `business` log lines. */
@Injectable()
export class WorkflowsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly business: BusinessMetrics,
    private readonly logger: AppLogger,
    private readonly learning: LearningLoopService,
  ) {}

  async start(type: string, input: Record<string, unknown> | undefined): Promise<StartedWorkflowRecord> {
    const workflow = Object.assign(new WorkflowEntity(), {
      id: randomUUID(),
      type,
      status: 'running' as const,
      input: input ?? null,
      error: null,
      startedAt: new Date(),
      endedAt: null,
    });
    await this.workflows().insert(workflow);
    this.business.workflowStarted(type);
    if (type !== ARTWORK_GENERATION) {
      this.logger.logBusinessEvent('workflow_started', { workflow_id: workflow.id, workflow_type: type });
      return toWorkflow(workflow);
    }
    // The learning loop closes here: the generator learns which style users rate best before it generates.
    const recommended = this.learning.recommendedStyle();
    this.logger.logBusinessEvent('workflow_started', {
      workflow_id: workflow.id,
      workflow_type: type,
      recommended_style: recommended.style,
    });
    return { ...toWorkflow(workflow), recommended_style: recommended };
  }

  async get(id: string): Promise<WorkflowWithFeedbackRecord> {
    return {
      ...toWorkflow(await this.find(id)),
      feedback: await this.learning.targetSummary('workflow', id),
    };
  }

  complete(id: string): Promise<WorkflowRecord> {
    return this.end(id, 'completed', null);
  }

  fail(id: string, error: string): Promise<WorkflowRecord> {
    return this.end(id, 'failed', error);
  }

  async recordArtwork(workflowId: string | undefined, style: string | undefined): Promise<ArtworkRecord> {
    if (workflowId) await this.find(workflowId);
    const artwork = Object.assign(new ArtworkEntity(), {
      id: randomUUID(),
      workflowId: workflowId ?? null,
      style: style ?? 'other',
      createdAt: new Date(),
    });
    await this.dataSource.getRepository(ArtworkEntity).insert(artwork);
    this.business.artworkGenerated(artwork.style);
    this.logger.logBusinessEvent('artwork_generated', {
      artwork_id: artwork.id,
      workflow_id: artwork.workflowId,
      style: artwork.style,
    });
    return {
      id: artwork.id,
      workflow_id: artwork.workflowId,
      style: artwork.style,
      created_at: artwork.createdAt.toISOString(),
    };
  }

  // One conditional UPDATE: two concurrent attempts to end a workflow cannot both succeed.
  private async end(
    id: string,
    status: 'completed' | 'failed',
    error: string | null,
  ): Promise<WorkflowRecord> {
    const result = await this.workflows()
      .createQueryBuilder()
      .update(WorkflowEntity)
      .set({ status, error, endedAt: new Date() })
      .where('id = :id AND status = :running', { id, running: 'running' })
      .execute();
    const workflow = await this.find(id);
    if (!result.affected) {
      throw new ConflictException(
        `workflow ${id} is ${workflow.status}; only a running workflow can be ${status}`,
      );
    }
    if (status === 'completed') {
      this.business.workflowCompleted(workflow.type);
      this.logger.logBusinessEvent('workflow_completed', { workflow_id: id, workflow_type: workflow.type });
    } else {
      this.business.workflowFailed(workflow.type);
      this.logger.logBusinessEvent('workflow_failed', {
        workflow_id: id,
        workflow_type: workflow.type,
        error,
      });
    }
    return toWorkflow(workflow);
  }

  private async find(id: string): Promise<WorkflowEntity> {
    const workflow = await this.workflows().findOneBy({ id });
    if (!workflow) throw new NotFoundException(`workflow ${id} not found`);
    return workflow;
  }

  private workflows() {
    return this.dataSource.getRepository(WorkflowEntity);
  }
}
