import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ArtworkEntity } from './entities/artwork.entity';
import { WorkflowEntity } from './entities/workflow.entity';
import { WorkflowsController } from './workflows.controller';
import { WorkflowsService } from './workflows.service';

/** The smallest domain that makes the workflow and artwork metrics real. */
@Module({
  imports: [TypeOrmModule.forFeature([WorkflowEntity, ArtworkEntity])],
  controllers: [WorkflowsController],
  providers: [WorkflowsService],
})
export class WorkflowsModule {}
