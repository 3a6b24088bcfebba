import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FeedbackAggregatesRepository } from './aggregates/feedback-aggregates.repository';
import { FeedbackAggregatesService } from './aggregates/feedback-aggregates.service';
import { FeedbackInsightEntity } from './entities/feedback-insight.entity';
import { FeedbackEntity } from './entities/feedback.entity';
import { FeedbackController } from './feedback.controller';
import { FeedbackConfigurableModule } from './feedback.options';
import { RecommendationRandom } from './learning/bandit';
import { FeedbackRepository } from './feedback.repository';
import { FeedbackService } from './feedback.service';
import { FeedbackWriter } from './feedback.writer';
import { LearningLoopService } from './learning/learning-loop.service';

/** Feedback collection (REST), storage, statistics and the learning loop; `forRoot` takes the style catalog. */
@Module({
  imports: [TypeOrmModule.forFeature([FeedbackEntity, FeedbackInsightEntity])],
  controllers: [FeedbackController],
  providers: [
    { provide: RecommendationRandom, useFactory: () => new RecommendationRandom() },
    FeedbackAggregatesRepository,
    FeedbackAggregatesService,
    FeedbackRepository,
    FeedbackService,
    FeedbackWriter,
    LearningLoopService,
  ],
  exports: [
    FeedbackAggregatesRepository,
    FeedbackAggregatesService,
    FeedbackRepository,
    FeedbackService,
    LearningLoopService,
  ],
})
export class FeedbackModule extends FeedbackConfigurableModule {}
