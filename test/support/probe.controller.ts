import { Body, Controller, Get, HttpCode, HttpException, Param, Post, Query } from '@nestjs/common';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ProbeDto {
  @IsInt()
  @Min(1)
  @Max(5)
  rating!: number;

  @IsOptional()
  @IsString()
  @MaxLength(5)
  name?: string;
}

export class SecretDto {
  @IsString()
  username!: string;

  @IsString()
  password!: string;
}

/** Test-only routes that exercise each way a request can end: success, validation, throw, plain status. */
@Controller('e2e-probe')
export class ProbeController {
  @Post()
  create(@Body() dto: ProbeDto): { received: ProbeDto; isDto: boolean } {
    return { received: dto, isDto: dto instanceof ProbeDto };
  }

  @Get('item/:id')
  item(@Param('id') id: string): { id: string } {
    return { id };
  }

  /** Answers after `ms` milliseconds: a handler stuck on something slow. */
  @Get('slow')
  async slow(@Query('ms') ms: string): Promise<{ waited: number }> {
    await new Promise((resolve) => setTimeout(resolve, Number(ms)));
    return { waited: Number(ms) };
  }

  @Get('boom')
  boom(): never {
    throw new Error('kaboom: internal detail');
  }

  @Post('explode')
  explode(@Body() dto: SecretDto): never {
    throw new Error(`exploded while handling ${dto.username}`);
  }

  @Get('teapot')
  teapot(): never {
    throw new HttpException('short and stout', 418);
  }

  @Get('plain-conflict')
  @HttpCode(409)
  plainConflict(): { state: string } {
    return { state: 'conflict without an exception' };
  }
}
