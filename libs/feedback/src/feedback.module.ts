import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FeedbackInsightEntity } from './entities/feedback-insight.entity';
import { FeedbackEntity } from './entities/feedback.entity';
import { FeedbackController } from './feedback.controller';
import { FeedbackRepository } from './feedback.repository';
import { FeedbackService } from './feedback.service';
import { FeedbackWriter } from './feedback.writer';
import { LearningLoopService } from './learning/learning-loop.service';

/** Feedback collection (REST), storage, statistics and the learning loop. */
@Module({
  imports: [TypeOrmModule.forFeature([FeedbackEntity, FeedbackInsightEntity])],
  controllers: [FeedbackController],
  providers: [FeedbackRepository, FeedbackService, FeedbackWriter, LearningLoopService],
  exports: [FeedbackRepository, FeedbackService, LearningLoopService],
})
export class FeedbackModule {}
